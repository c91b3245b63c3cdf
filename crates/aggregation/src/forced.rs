//! What the sandbox control plane may force on the aggregation side: the connection statuses a
//! member may be forced into, the bank message each carries (the sandbox bank's own where it has
//! one) and whether a member may go there from where it stands; and a micro-deposit's status,
//! with its MICRODEPOSIT webhook.

use openiav_core::aggregation::{MicroDepositStatus, MxWebhookType};
use openiav_core::ids::TenantId;
use openiav_core::wire_enum;
use openiav_store::records::MicroDepositRecord;
use openiav_store::repo::{micro_deposits, users};

use crate::routes::micro_deposits::effective_status;
use crate::sandbox;
use crate::status::ConnectionStatus;
use crate::webhooks::{self, payload, Action};
use crate::{AppState, MxError};

wire_enum! {
    /// A `connection_status` a member can be forced into.
    pub enum ForcedStatus {
        Connected = "CONNECTED",
        Challenged = "CHALLENGED",
        Denied = "DENIED",
        Locked = "LOCKED",
        Prevented = "PREVENTED",
        Rejected = "REJECTED",
        Expired = "EXPIRED",
        Impaired = "IMPAIRED",
        Impeded = "IMPEDED",
        Degraded = "DEGRADED",
        Disconnected = "DISCONNECTED",
        Discontinued = "DISCONTINUED",
        Closed = "CLOSED",
        Failed = "FAILED",
        Disabled = "DISABLED",
    }
}

impl ForcedStatus {
    /// The member's status once forced.
    pub fn status(self) -> ConnectionStatus {
        use ConnectionStatus as S;
        match self {
            Self::Connected => S::Connected,
            Self::Challenged => S::Challenged,
            Self::Denied => S::Denied,
            Self::Locked => S::Locked,
            Self::Prevented => S::Prevented,
            Self::Rejected => S::Rejected,
            Self::Expired => S::Expired,
            Self::Impaired => S::Impaired,
            Self::Impeded => S::Impeded,
            Self::Degraded => S::Degraded,
            Self::Disconnected => S::Disconnected,
            Self::Discontinued => S::Discontinued,
            Self::Closed => S::Closed,
            Self::Failed => S::Failed,
            Self::Disabled => S::Disabled,
        }
    }

    /// The `connection_status_message` the member carries there (none once connected or while a
    /// question waits).
    pub fn message(self) -> Option<&'static str> {
        Some(match self {
            Self::Connected | Self::Challenged => return None,
            Self::Denied => sandbox::CREDENTIALS_NO_LONGER_VALID.message,
            Self::Locked => "The credentials are valid, but the user is locked.",
            Self::Prevented => {
                "Connecting was stopped after repeated failed attempts, to avoid locking the account at the institution."
            }
            Self::Rejected => sandbox::WRONG_ANSWER.message,
            Self::Expired => sandbox::EXPIRED.message,
            Self::Impaired => "The institution needs the end user to update their credentials.",
            Self::Impeded => "The institution needs the end user to take action on its website.",
            Self::Degraded => "The institution is having problems; data may be incomplete.",
            Self::Disconnected => "The connection to the institution was revoked.",
            Self::Discontinued => "The institution is no longer supported.",
            Self::Closed => "The account was closed at the institution.",
            Self::Failed => "Internal server error.",
            Self::Disabled => "Aggregation has been disabled for this member.",
        })
    }
}

/// Why a member cannot be forced into a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// It is in that status already.
    AlreadyThere(ConnectionStatus),
    /// It never connected, so there is nothing to be CONNECTED to.
    NeverConnected,
}

impl Refusal {
    /// The reason, as the control plane answers it.
    pub fn reason(self) -> String {
        match self {
            Self::AlreadyThere(s) => format!("The member is {s} already."),
            Self::NeverConnected => {
                "The member never connected; it can be forced to CONNECTED only after a job connected it once.".into()
            }
        }
    }
}

/// Whether a member now `current` (`has_connected`: a job connected it once) may be forced to
/// `target`: any other status, and CONNECTED only back to the data a job gathered.
pub fn check(current: ConnectionStatus, has_connected: bool, target: ForcedStatus) -> Result<(), Refusal> {
    if current == target.status() {
        return Err(Refusal::AlreadyThere(current));
    }
    if target == ForcedStatus::Connected && !has_connected {
        return Err(Refusal::NeverConnected);
    }
    Ok(())
}

/// Decides forcing a micro-deposit that is `current` (as of now) to `target`, and returns the
/// `error_message` it carries there: an initiated one lands (DEPOSITED); one not yet judged is
/// VERIFIED, DENIED or ERRORED; a judged one stays as it is.
pub fn micro_deposit_change(
    current: MicroDepositStatus,
    target: MicroDepositStatus,
) -> Result<Option<&'static str>, String> {
    use MicroDepositStatus::*;
    if current == target {
        return Err(format!("The micro-deposit is {current} already."));
    }
    match (current, target) {
        (_, Initiated) => Err("A micro-deposit cannot be forced back to INITIATED.".into()),
        (Verified | Denied | Errored, _) => Err(format!("The micro-deposit is {current}; its outcome is final.")),
        (_, Deposited | Verified) => Ok(None),
        (_, Denied) => Ok(Some("The amounts were entered incorrectly too many times.")),
        (_, Errored) => Ok(Some("The deposits could not be made to this account.")),
    }
}

/// Forces the tenant's micro-deposit `guid` to `target` in one write, decided on the row locked
/// there by [`micro_deposit_change`], and writes its MICRODEPOSIT webhook. Returns it as saved
/// and its status now, or why it cannot go there.
pub async fn micro_deposit(
    state: &AppState,
    tenant: TenantId,
    guid: &str,
    target: MicroDepositStatus,
) -> Result<Result<(MicroDepositRecord, MicroDepositStatus), String>, MxError> {
    let (agg, guid) = (state.clone(), guid.to_owned());
    state
        .store
        .write(move |c| {
            Box::pin(async move {
                let Some(mut d) = micro_deposits::find_for_update(c, tenant, &guid).await? else {
                    return Ok(Err(MxError::NotFound));
                };
                let now = agg.now_in(c, tenant).await?;
                let message = match micro_deposit_change(effective_status(&d, now), target) {
                    Ok(message) => message,
                    Err(reason) => return Ok(Ok(Err(reason))),
                };
                d.status = target;
                d.error_message = message.map(str::to_owned);
                match target {
                    MicroDepositStatus::Deposited => d.deposited_at = d.deposited_at.min(now),
                    MicroDepositStatus::Verified => d.verified_at = Some(now),
                    _ => {}
                }
                d.updated_at = now;
                micro_deposits::save(c, &d).await?;
                let user_id = users::find(c, tenant, d.user_guid.as_str(), false).await?.and_then(|u| u.id);
                let body = payload::micro_deposit(Action::Updated, &d, d.status, user_id.as_deref(), now);
                webhooks::emit(c, &agg, tenant, MxWebhookType::MicroDeposit, &body, now).await?;
                Ok(Ok(Ok((d, target))))
            })
        })
        .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_micro_deposit_lands_or_is_judged_once_by_force() {
        use MicroDepositStatus::*;
        assert_eq!(micro_deposit_change(Initiated, Deposited), Ok(None));
        assert_eq!(micro_deposit_change(Initiated, Verified), Ok(None));
        assert_eq!(micro_deposit_change(Deposited, Verified), Ok(None));
        assert!(micro_deposit_change(Deposited, Denied).unwrap().is_some());
        assert!(micro_deposit_change(Initiated, Errored).unwrap().is_some());
        for (from, to) in [(Deposited, Deposited), (Verified, Denied), (Denied, Verified), (Deposited, Initiated)] {
            assert!(micro_deposit_change(from, to).is_err(), "{from} -> {to}");
        }
    }

    #[test]
    fn every_forced_status_is_the_connection_status_of_its_name() {
        for f in ForcedStatus::ALL {
            assert_eq!(f.status().as_str(), f.as_str());
            let silent = matches!(f, ForcedStatus::Connected | ForcedStatus::Challenged);
            assert_eq!(f.message().is_none(), silent, "{f:?}");
        }
        assert_eq!(ForcedStatus::Locked.message(), Some("The credentials are valid, but the user is locked."));
    }

    #[test]
    fn a_member_goes_anywhere_else_and_back_to_connected_only_once_it_connected() {
        use ConnectionStatus as S;
        assert_eq!(check(S::Connected, true, ForcedStatus::Locked), Ok(()));
        assert_eq!(check(S::Challenged, false, ForcedStatus::Denied), Ok(()));
        assert_eq!(check(S::Locked, true, ForcedStatus::Connected), Ok(()));
        assert_eq!(check(S::Locked, true, ForcedStatus::Locked), Err(Refusal::AlreadyThere(S::Locked)));
        assert_eq!(check(S::Denied, false, ForcedStatus::Connected), Err(Refusal::NeverConnected));
        assert_eq!(
            check(S::Connected, true, ForcedStatus::Connected),
            Err(Refusal::AlreadyThere(S::Connected)),
            "already there wins"
        );
    }
}
