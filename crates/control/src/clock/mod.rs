//! The tenant's test clock under `/_openiav/clock`: read it, freeze it, advance it (running what
//! falls due, [`advance`]), set it, release it. The clock itself lives in the store
//! (`tenant_clocks`); every time rule reads it through `Payments::now` / `Aggregation::now`.

pub mod advance;
pub mod rules;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use openiav_core::clock::{ClockMode, ClockSetting, Timestamp};
use openiav_core::ids::TenantId;
use openiav_store::repo::tenant_clocks;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use self::advance::{Advanced, Ran, Target};
use crate::{AppState, Control, ControlError, ControlTenant};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_openiav/clock", get(show))
        .route("/_openiav/clock/freeze", post(freeze))
        .route("/_openiav/clock/advance", post(advance_by))
        .route("/_openiav/clock/set", post(set))
        .route("/_openiav/clock/release", post(release))
}

/// The clock as the control API shows it.
#[derive(Debug, Serialize)]
pub struct ClockView {
    pub mode: &'static str,
    /// The tenant's now, RFC 3339 with milliseconds.
    pub now: String,
    /// How far the tenant's clock is from the real one (negative: behind).
    pub offset_ms: i64,
    /// What an advance or set ran on the way, by kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ran: Option<Ran>,
    /// Whether an advance or set reached its target (false: it stopped at its item bound; call
    /// it again to go on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete: Option<bool>,
}

impl ClockView {
    fn of(setting: Option<ClockSetting>, real: Timestamp) -> Self {
        let now = setting.map_or(real, |s| s.now(real));
        Self {
            mode: ClockSetting::mode(setting).as_str(),
            now: now.to_rfc3339_millis(),
            offset_ms: now.millis() - real.millis(),
            ran: None,
            complete: None,
        }
    }

    fn after(advanced: Advanced, setting: Option<ClockSetting>, real: Timestamp) -> Self {
        Self { ran: Some(advanced.ran), complete: Some(advanced.complete), ..Self::of(setting, real) }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceBody {
    duration: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetBody {
    time: String,
}

fn body<T: DeserializeOwned>(bytes: &Bytes, example: &str) -> Result<T, ControlError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ControlError::bad_request(format!("The body must be JSON like {example}: {e}")))
}

async fn current(control: &Control, tenant: TenantId) -> Result<Option<ClockSetting>, ControlError> {
    Ok(control.store.read(|mut c| async move { tenant_clocks::get(&mut c, tenant).await }).await?)
}

async fn show(
    State(control): State<AppState>,
    ControlTenant(tenant): ControlTenant,
) -> Result<Json<ClockView>, ControlError> {
    Ok(Json(show_tenant(&control, tenant).await?))
}

/// The tenant's clock as it stands.
pub async fn show_tenant(control: &Control, tenant: TenantId) -> Result<ClockView, ControlError> {
    let setting = current(control, tenant).await?;
    Ok(ClockView::of(setting, control.real_now()))
}

async fn freeze(
    State(control): State<AppState>,
    ControlTenant(tenant): ControlTenant,
) -> Result<Json<ClockView>, ControlError> {
    Ok(Json(freeze_tenant(&control, tenant).await?))
}

/// Freezes the tenant's clock where it stands.
pub async fn freeze_tenant(control: &Control, tenant: TenantId) -> Result<ClockView, ControlError> {
    let real = control.real_now();
    let frozen = control
        .store
        .write(move |c| {
            Box::pin(async move {
                let now = tenant_clocks::get_for_update(c, tenant).await?.map_or(real, |s| s.now(real));
                let frozen = ClockSetting::frozen(now);
                tenant_clocks::set(c, tenant, frozen, real).await?;
                Ok(frozen)
            })
        })
        .await?;
    Ok(ClockView::of(Some(frozen), real))
}

async fn advance_by(
    State(control): State<AppState>,
    ControlTenant(tenant): ControlTenant,
    bytes: Bytes,
) -> Result<Json<ClockView>, ControlError> {
    let request: AdvanceBody = body(&bytes, r#"{"duration":"73h"}"#)?;
    Ok(Json(advance_tenant(&control, tenant, &request.duration).await?))
}

/// Advances the tenant's clock by `duration` (`73h`, `90m`, …), running what falls due.
pub async fn advance_tenant(control: &Control, tenant: TenantId, duration: &str) -> Result<ClockView, ControlError> {
    let ms = rules::duration(duration).map_err(|r| ControlError::bad_request(r.message()))?;
    let advanced = advance::advance(control, tenant, Target::By(ms)).await?;
    let setting = current(control, tenant).await?;
    Ok(ClockView::after(advanced, setting, control.real_now()))
}

async fn set(
    State(control): State<AppState>,
    ControlTenant(tenant): ControlTenant,
    bytes: Bytes,
) -> Result<Json<ClockView>, ControlError> {
    let request: SetBody = body(&bytes, r#"{"time":"2030-01-02T03:04:05Z"}"#)?;
    // A malformed time is refused before waiting for the clock; moving backwards is judged
    // against the clock as it stands once this call holds it.
    rules::set_target(&request.time, Timestamp::from_millis(i64::MIN))
        .map_err(|r| ControlError::bad_request(r.message()))?;
    let advanced = advance::advance(&control, tenant, Target::At(request.time)).await?;
    let setting = current(&control, tenant).await?;
    Ok(Json(ClockView::after(advanced, setting, control.real_now())))
}

async fn release(
    State(control): State<AppState>,
    ControlTenant(tenant): ControlTenant,
) -> Result<Json<ClockView>, ControlError> {
    Ok(Json(release_tenant(&control, tenant).await?))
}

/// Releases the tenant's clock: it reads the real time again.
pub async fn release_tenant(control: &Control, tenant: TenantId) -> Result<ClockView, ControlError> {
    control.store.write(move |c| Box::pin(async move { tenant_clocks::delete(c, tenant).await })).await?;
    debug_assert_eq!(ClockSetting::mode(None), ClockMode::Real);
    Ok(ClockView::of(None, control.real_now()))
}
