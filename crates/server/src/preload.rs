//! What a start loads into the sandbox tenant from files: a snapshot (`--load-snapshot`) and
//! custom sandbox fixtures (`--sandbox-fixtures`).

use std::path::Path;

use anyhow::Context;
use openiav_control::fixtures;
use openiav_control::snapshot::{self, Snapshot};
use openiav_core::clock::Clock;
use openiav_core::ids::TenantId;
use openiav_store::repo::tenants;
use openiav_store::Store;

/// Reads a snapshot file and the tenant it was taken of.
pub fn read_snapshot(path: &Path) -> anyhow::Result<(Snapshot, TenantId)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading the snapshot {}", path.display()))?;
    let parsed = snapshot::parse(&bytes).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message))?;
    let tenant =
        snapshot::tenant_of(&parsed, None).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message))?;
    Ok((parsed, tenant))
}

/// Replaces the sandbox tenant's data with `snapshot`, which must have been taken of it.
pub async fn load_snapshot(store: &Store, snapshot: Snapshot, taken_of: TenantId) -> anyhow::Result<()> {
    let sandbox = store
        .read(|mut c| async move { tenants::find_sandbox(&mut c).await })
        .await?
        .context("there is no sandbox tenant to load the snapshot into")?;
    anyhow::ensure!(
        sandbox.id == taken_of,
        "the snapshot is of tenant {taken_of}, but this database's sandbox tenant is {}; a snapshot loads only into \
         the tenant it was taken of (start on a fresh database to create the sandbox tenant with its id)",
        sandbox.id
    );
    snapshot::restore_into(store, taken_of, snapshot).await.map_err(|e| anyhow::anyhow!("{}", e.message))?;
    Ok(())
}

/// Installs every tenant's stored fixtures, then loads `file` (if any) as the sandbox tenant's.
pub async fn load_fixtures(store: &Store, clock: &dyn Clock, file: Option<&Path>) -> anyhow::Result<()> {
    fixtures::install_stored(store).await.map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let Some(file) = file else { return Ok(()) };
    let bytes = std::fs::read(file).with_context(|| format!("reading the fixtures {}", file.display()))?;
    let sandbox = store
        .read(|mut c| async move { tenants::find_sandbox(&mut c).await })
        .await?
        .context("there is no sandbox tenant to load the fixtures into")?;
    fixtures::load_document(store, sandbox.id, &bytes, clock.now())
        .await
        .map_err(|e| anyhow::anyhow!("{}: {}", file.display(), e.message))?;
    Ok(())
}
