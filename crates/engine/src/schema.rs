//! JSON Schema dialects: turning OpenAPI 3.0 / Swagger schemas into JSON Schema 2020-12 and
//! validating instances against them.

use serde_json::Value;

/// Whether a schema is read for a request (readOnly properties are not expected) or for a
/// response (writeOnly properties are not expected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Request,
    Response,
}

/// What a schema is read against: the bundled document its `$ref`s point into and its
/// dialect.
#[derive(Debug, Clone, Copy)]
pub struct SchemaContext<'a> {
    pub root: &'a Value,
    /// OpenAPI 3.0 / Swagger 2.0 dialect (`nullable`, boolean exclusive bounds).
    pub legacy: bool,
    pub direction: Direction,
}

/// One way an instance fails its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    /// JSON pointer into the instance (empty for the instance itself).
    pub instance_path: String,
    pub message: String,
}

/// A compiled schema, ready to validate many instances.
pub struct SchemaValidator {
    _private: (),
}

impl SchemaValidator {
    /// Compiles `schema` (which may be or contain `$ref`s into `ctx.root`).
    pub fn compile(schema: &Value, ctx: SchemaContext<'_>) -> Result<SchemaValidator, String> {
        let _ = (schema, ctx);
        Err("schema compilation is not built yet".to_owned())
    }

    /// Every violation of `instance`; empty when it is valid.
    pub fn validate(&self, instance: &Value) -> Vec<SchemaViolation> {
        let _ = instance;
        Vec::new()
    }
}
