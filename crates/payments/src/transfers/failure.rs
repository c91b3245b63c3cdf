//! ACH return codes: the failure record of a failed transfer (code, description, explanation).
