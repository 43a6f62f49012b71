//! Servers, how to reach them, and where their credentials come from.

mod audit;
pub mod credentials;
mod load;
pub mod model;
pub mod option_file;
mod raw;
pub mod schema;
pub mod tls;

use std::path::Path;

pub use tls::{MysqlTls, TlsMode, maxscale_warning};

pub use audit::{CredentialWarning, audit};
pub use credentials::{CredentialError, Secret, Weakness, resolve, weakness};
pub use model::{
    Inventory, MaxscaleEndpoint, MycnfFile, MysqlEndpoint, MysqlIdentity, Role, SecretSource,
    Server, SshEndpoint, Transport,
};

use crate::diag::{Diagnostics, SourceFile};

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error(transparent)]
    Read(#[from] crate::diag::ReadError),
    #[error("{} has {} error(s)", .0.errors.first().map(|e| e.path.display().to_string()).unwrap_or_default(), .0.len())]
    Invalid(Diagnostics),
}

/// Reads and validates an inventory file.
pub fn load_file(path: &Path) -> Result<Inventory, InventoryError> {
    let file = SourceFile::read(path)?;
    load::load(file).map_err(InventoryError::Invalid)
}

/// Parses inventory text (tests, and the lab which writes its own).
pub fn parse(path: &Path, text: &str) -> Result<Inventory, Diagnostics> {
    load::load(SourceFile::new(path, text))
}

impl Inventory {
    /// The folder relative paths in this inventory are resolved from.
    pub fn base_dir(&self) -> &Path {
        self.file.path.parent().unwrap_or(Path::new("."))
    }
}
