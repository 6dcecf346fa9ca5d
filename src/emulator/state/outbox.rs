//! The SMS outbox: what `send_registration_sms` would have sent, per application, in sending
//! order.

use std::collections::{BTreeMap, VecDeque};

use crate::emulator::types::Sms;

/// Most SMS kept per application; beyond it the oldest are dropped.
const MAX_SMS_PER_APP: usize = 1_000;

/// Every application's outbox.
#[derive(Default)]
pub(crate) struct Outbox {
    /// Per application, each SMS with an outbox-wide sequence number to merge outboxes in
    /// sending order.
    by_app: BTreeMap<String, VecDeque<(u64, Sms)>>,
    seq: u64,
}

impl Outbox {
    /// Changes so far (compared by watchers to notice a change).
    pub(crate) fn revision(&self) -> u64 {
        self.seq
    }

    /// Stores an SMS in its application's outbox (the caller checked the application).
    pub(crate) fn push(&mut self, sms: Sms) {
        self.seq += 1;
        let outbox = self.by_app.entry(sms.app_id.clone()).or_default();
        if outbox.len() >= MAX_SMS_PER_APP {
            outbox.pop_front();
        }
        outbox.push_back((self.seq, sms));
    }

    /// The outbox (optionally of one application and/or user), oldest first.
    pub(crate) fn list(&self, app_id: Option<&str>, user: Option<&str>) -> Vec<Sms> {
        let mut all: Vec<&(u64, Sms)> = self
            .by_app
            .iter()
            .filter(|(id, _)| app_id.is_none_or(|a| a == id.as_str()))
            .flat_map(|(_, outbox)| outbox.iter())
            .filter(|(_, s)| user.is_none_or(|u| u == s.user))
            .collect();
        all.sort_by_key(|(seq, _)| *seq);
        all.into_iter().map(|(_, s)| s.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sms(app: &str, message: usize) -> Sms {
        Sms {
            app_id: app.into(),
            user: "alice".into(),
            phone_number: "+15551234567".into(),
            message: message.to_string(),
            register_url: String::new(),
            at: 0,
        }
    }

    #[test]
    fn outboxes_merge_in_sending_order_and_stay_bounded() {
        let mut outbox = Outbox::default();
        for (app, n) in [("other", 1), ("app", 2), ("other", 3)] {
            outbox.push(sms(app, n));
        }
        let order = |outbox: &Outbox, app: Option<&str>| -> Vec<String> {
            outbox
                .list(app, None)
                .into_iter()
                .map(|s| s.message)
                .collect()
        };
        assert_eq!(order(&outbox, None), ["1", "2", "3"]);
        assert_eq!(order(&outbox, Some("other")), ["1", "3"]);
        assert!(outbox.list(None, Some("bob")).is_empty());
        for n in 0..MAX_SMS_PER_APP {
            outbox.push(sms("app", 100 + n));
        }
        let app = order(&outbox, Some("app"));
        assert_eq!(app.len(), MAX_SMS_PER_APP);
        assert_eq!(app[0], "100", "the oldest went first");
        assert_eq!(order(&outbox, Some("other")).len(), 2);
    }
}
