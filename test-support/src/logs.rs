//! Capturing what the server logs through `tracing` in a test: JSON lines from `DEBUG` up, as `serve` writes
//! them with `--log-format json`.
use std::io::Write;
use std::sync::{Arc, Mutex};

/// The captured bytes (a `MakeWriter` for `tracing_subscriber`).
#[derive(Clone, Default)]
pub struct Buf(pub Arc<Mutex<Vec<u8>>>);

impl Buf {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buf {
    type Writer = Buf;
    fn make_writer(&'a self) -> Buf {
        self.clone()
    }
}

/// Captures every event of this thread (JSON, `DEBUG` and up) until the guard is dropped: use it with
/// `#[tokio::test(flavor = "current_thread")]` so the server's tasks run on this thread.
pub fn capture() -> (Buf, tracing::subscriber::DefaultGuard) {
    let buf = Buf::default();
    let sub = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(buf.clone())
        .finish();
    (buf, tracing::subscriber::set_default(sub))
}
