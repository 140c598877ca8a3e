//! Listeners for the mock API and the admin API.
