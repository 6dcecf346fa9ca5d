//! Ctrl-C while `login` waits: listened for from before the request starts, so that a
//! Ctrl-C at any moment cancels cleanly instead of killing the process mid-request.

use std::io;

/// A registered Ctrl-C (SIGINT) listener.
pub struct Interrupt {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
}

impl Interrupt {
    /// Starts listening (on Unix at once; elsewhere from the first [`Interrupt::recv`]).
    pub fn listen() -> io::Result<Self> {
        Ok(Interrupt {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?,
        })
    }

    /// Resolves at the next Ctrl-C (or one received since [`Interrupt::listen`]).
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        let received = self.signal.recv().await.is_some();
        #[cfg(not(unix))]
        let received = tokio::signal::ctrl_c().await.is_ok();
        if !received {
            // No more signals can arrive: never resolve.
            std::future::pending::<()>().await;
        }
    }
}
