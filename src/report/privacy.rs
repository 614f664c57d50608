//! Personal data off (DESIGN §3.7): names and e-mails of a team's users are
//! replaced by `*****` and a stable user id hashed with a server secret, so
//! the same person keeps the same id across exports but cannot be looked up
//! without the secret.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub use crate::domain::model::PERSONAL_DATA_MASK as MASK;
use crate::report::views::UserRef;
use crate::report::{DimensionValue, Direction, ReportResult};

/// The server's key for hashed user ids.
#[derive(Clone)]
pub struct PseudonymKey(Vec<u8>);

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey(***)")
    }
}

impl PseudonymKey {
    pub fn new(secret: &[u8]) -> PseudonymKey {
        PseudonymKey(secret.to_vec())
    }

    /// `u-` and 16 hex digits of HMAC-SHA256(secret, team id, user id).
    pub fn user_id(&self, team_id: i64, user_id: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(&team_id.to_be_bytes());
        mac.update(&user_id.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        format!("u-{}", hex::encode(&digest[..8]))
    }
}

impl PseudonymKey {
    /// HMAC-SHA256(secret, team id, e-mail in lower case), hex: how an erased
    /// person's e-mail is recognised without being kept.
    pub fn email_hash(&self, team_id: i64, email: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(&team_id.to_be_bytes());
        mac.update(email.trim().to_lowercase().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// A team user as an export shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShownUser {
    pub first_name: String,
    pub last_name: String,
    /// The e-mail, or the hashed user id when personal data is off.
    pub email: String,
}

/// How one team's users are shown: as they are, or hashed.
#[derive(Clone, Debug)]
pub struct Privacy {
    key: PseudonymKey,
    team_id: i64,
    personal_data: bool,
}

impl Privacy {
    pub fn new(key: &PseudonymKey, team: &crate::domain::teams::Team) -> Privacy {
        Privacy { key: key.clone(), team_id: team.id, personal_data: team.personal_data }
    }

    pub fn show(&self, user_id: i64, first_name: String, last_name: String, email: String) -> ShownUser {
        if self.personal_data {
            ShownUser { first_name, last_name, email }
        } else {
            ShownUser {
                first_name: MASK.into(),
                last_name: MASK.into(),
                email: self.key.user_id(self.team_id, user_id),
            }
        }
    }

    /// Whether users are shown by their hashed id (personal data off).
    pub fn hides_names(&self) -> bool {
        !self.personal_data
    }

    /// Orders a masked report's rows by the hashed id shown for their user
    /// (ties, which a 64-bit hash makes unlikely, by user id): the name order
    /// while names are hidden, computed from nothing but what is shown.
    pub fn order_by_shown_id(&self, result: &mut ReportResult, direction: Direction) {
        let shown = |row: &crate::report::ReportRow| {
            row.keys.iter().find_map(|key| match key {
                DimensionValue::User { id, email, .. } => Some((email.clone(), *id)),
                _ => None,
            })
        };
        result.rows.sort_by_cached_key(shown);
        if direction == Direction::Desc {
            result.rows.reverse();
        }
    }

    /// Masks every user of a report (its rows' user keys).
    pub fn mask_report(&self, result: &mut ReportResult) {
        if self.personal_data {
            return;
        }
        for key in result.rows.iter_mut().flat_map(|row| row.keys.iter_mut()) {
            if let DimensionValue::User { id, first_name, last_name, email } = key {
                let shown = self.show(*id, String::new(), String::new(), String::new());
                (*first_name, *last_name, *email) = (shown.first_name, shown.last_name, shown.email);
            }
        }
    }

    pub fn mask_user(&self, user: &mut UserRef) {
        let shown = self.show(
            user.id,
            std::mem::take(&mut user.first_name),
            std::mem::take(&mut user.last_name),
            std::mem::take(&mut user.email),
        );
        (user.first_name, user.last_name, user.email) = (shown.first_name, shown.last_name, shown.email);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_ids_are_stable_keyed_and_per_user() {
        let key = PseudonymKey::new(b"secret one");
        assert_eq!(key.user_id(1, 42), key.user_id(1, 42));
        assert_ne!(key.user_id(1, 42), key.user_id(1, 43));
        assert_ne!(key.user_id(1, 42), PseudonymKey::new(b"secret two").user_id(1, 42));
        assert_eq!(key.user_id(1, 42).len(), 18);
    }

    #[test]
    fn personal_data_off_hides_names_and_email() {
        let key = PseudonymKey::new(b"k");
        let privacy = Privacy { key: key.clone(), team_id: 1, personal_data: false };
        let shown = privacy.show(7, "Ada".into(), "Lovelace".into(), "ada@x.org".into());
        assert_eq!((shown.first_name.as_str(), shown.last_name.as_str()), (MASK, MASK));
        assert_eq!(shown.email, key.user_id(1, 7));
    }
}
