//! The knobs of step-up ("sudo mode"): how long a phone approval counts as recent, and the
//! methods a recent approval must have asked for, for guards and extractors that do not say.

use std::time::Duration;

use super::builder::IampassBuilder;
use crate::AuthenticationMethod;

impl IampassBuilder {
    /// How long a phone approval counts as recent for the
    /// [`RecentApproval`](crate::core::RecentApproval) extractor, and for guards that do not
    /// name their own window (default
    /// [`DEFAULT_STEP_UP_WINDOW`](crate::core::defaults::DEFAULT_STEP_UP_WINDOW), 5 minutes;
    /// zero is refused by [`build`](Self::build)).
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = iampass::core::Iampass::builder("app", "secret")
    ///     .step_up_window(Duration::from_secs(120));
    /// # let _ = b;
    /// ```
    pub fn step_up_window(mut self, window: Duration) -> Self {
        self.login.step_up.window = window;
        self
    }

    /// The methods a recent approval must have asked of the phone for the
    /// [`RecentApproval`](crate::core::RecentApproval) extractor (default: none required),
    /// and the methods a step-up asks for when its page names none.
    ///
    /// ```
    /// use iampass::AuthenticationMethod;
    /// let b = iampass::core::Iampass::builder("app", "secret")
    ///     .step_up_methods([AuthenticationMethod::Facial]);
    /// # let _ = b;
    /// ```
    pub fn step_up_methods(
        mut self,
        methods: impl IntoIterator<Item = AuthenticationMethod>,
    ) -> Self {
        self.login.step_up.methods = methods.into_iter().collect();
        self
    }
}
