//! Figures of this process and of the host, read by the sampler thread through `sysinfo`;
//! never on a request.

use serde::Serialize;
use sysinfo::{Networks, Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// One reading. Totals are cumulative (since the process or the host started), so that a
/// window's rate is the difference of two readings over the time between them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct SystemReading {
    /// CPU time of this process, all threads, in seconds.
    pub process_cpu_seconds_total: f64,
    pub process_resident_memory_bytes: u64,
    pub process_virtual_memory_bytes: u64,
    /// Bytes this process asked the kernel to read from or write to storage (page-cache
    /// hits included for reads where the kernel counts them so).
    pub process_disk_read_bytes_total: u64,
    pub process_disk_written_bytes_total: u64,
    /// Open file descriptors of this process, sockets included.
    pub process_open_fds: Option<u64>,
    /// Start of the process, seconds since the Unix epoch.
    pub process_start_time_seconds: u64,
    /// Busy share of all host CPUs since the previous reading, 0 to 100.
    pub host_cpu_percent: f64,
    pub host_memory_total_bytes: u64,
    pub host_memory_used_bytes: u64,
    /// Bytes through every network interface of the host, loopback included.
    pub host_network_received_bytes_total: u64,
    pub host_network_transmitted_bytes_total: u64,
}

/// The `sysinfo` state kept between readings (CPU figures are differences between two
/// refreshes).
pub struct SystemProbe {
    system: System,
    networks: Networks,
    pid: Option<Pid>,
}

impl SystemProbe {
    pub fn new() -> SystemProbe {
        let pid = match sysinfo::get_current_pid() {
            Ok(pid) => Some(pid),
            Err(err) => {
                tracing::warn!(cause = err, "process figures are unavailable");
                None
            }
        };
        let mut probe = SystemProbe {
            system: System::new(),
            networks: Networks::new_with_refreshed_list(),
            pid,
        };
        // The first CPU refresh sets the base the next one is measured from.
        probe.system.refresh_cpu_usage();
        probe
    }

    pub fn read(&mut self) -> SystemReading {
        let system = &mut self.system;
        system.refresh_cpu_usage();
        system.refresh_memory();
        self.networks.refresh(true);
        let (received, transmitted) = self.networks.values().fold((0, 0), |(rx, tx), data| {
            (rx + data.total_received(), tx + data.total_transmitted())
        });
        let mut reading = SystemReading {
            host_cpu_percent: f64::from(system.global_cpu_usage()),
            host_memory_total_bytes: system.total_memory(),
            host_memory_used_bytes: system.used_memory(),
            host_network_received_bytes_total: received,
            host_network_transmitted_bytes_total: transmitted,
            ..SystemReading::default()
        };
        let Some(pid) = self.pid else {
            return reading;
        };
        let kind = ProcessRefreshKind::nothing()
            .with_cpu()
            .with_memory()
            .with_disk_usage()
            .without_tasks();
        system.refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), true, kind);
        if let Some(process) = system.process(pid) {
            let disk = process.disk_usage();
            reading.process_cpu_seconds_total = process.accumulated_cpu_time() as f64 / 1000.0;
            reading.process_resident_memory_bytes = process.memory();
            reading.process_virtual_memory_bytes = process.virtual_memory();
            reading.process_disk_read_bytes_total = disk.total_read_bytes;
            reading.process_disk_written_bytes_total = disk.total_written_bytes;
            reading.process_open_fds = process.open_files().map(|n| n as u64);
            reading.process_start_time_seconds = process.start_time();
        }
        reading
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_and_the_host() {
        let mut probe = SystemProbe::new();
        let reading = probe.read();
        assert!(reading.process_resident_memory_bytes > 0, "{reading:?}");
        assert!(reading.host_memory_total_bytes >= reading.process_resident_memory_bytes);
        assert!(
            reading.process_start_time_seconds > 1_600_000_000,
            "{reading:?}"
        );
        assert!(
            (0.0..=100.0).contains(&reading.host_cpu_percent),
            "{reading:?}"
        );
    }
}
