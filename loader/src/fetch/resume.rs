//! One HTTP target download attempt: a partial file kept by an earlier attempt is hashed and resumed with
//! `Range`, and the body is hashed as it streams.

use std::io::{Read, Write};
use std::path::Path;

use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::{StatusCode, Url};

use super::hash::{hash_into, Digests, Hashes};
use super::http::{send_failed, status_failed};
use super::retry::Attempt;
use super::{redact, Fetcher, Progress};
use crate::error::Error;

impl Fetcher {
    /// One download attempt into `dest`, hashed as it streams (a kept prefix is hashed from disk first), so
    /// the file is never read back. `Done` carries the SHA-256 (and, if `sha512`, the SHA-512) of exactly
    /// `length` bytes.
    pub(super) async fn target_once(
        &self,
        url: &Url,
        shown_name: &str,
        length: u64,
        sha512: bool,
        dest: &Path,
        progress: &dyn Progress,
    ) -> Result<Attempt<Digests>, Error> {
        let shown = redact(url.as_str());
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(dest)
            .map_err(Error::io("open", dest))?;
        let mut have = file.metadata().map_err(Error::io("stat", dest))?.len();
        if have > length {
            file.set_len(0).map_err(Error::io("truncate", dest))?;
            have = 0;
        }
        let mut hasher = Hashes::new(sha512);
        if have > 0 {
            let mut prefix = std::fs::File::open(dest).map_err(Error::io("open", dest))?;
            let read = hash_into(&mut |b| hasher.update(b), &mut (&mut prefix).take(have))
                .map_err(Error::io("read", dest))?;
            if read != have {
                // The file shrank under us: start over rather than trust a prefix we did not hash.
                file.set_len(0).map_err(Error::io("truncate", dest))?;
                have = 0;
                hasher = Hashes::new(sha512);
            }
        }
        if have == length {
            return Ok(Attempt::Done(hasher.finish()));
        }
        let mut req = self.client.get(url.clone());
        if have > 0 {
            req = req.header(RANGE, format!("bytes={have}-"));
        }
        let mut resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return send_failed(shown, e),
        };
        let status = resp.status();
        if status == StatusCode::NOT_FOUND {
            return Err(Error::NotFound {
                what: format!("target {shown_name}"),
                location: shown,
            });
        }
        if status == StatusCode::RANGE_NOT_SATISFIABLE {
            file.set_len(0).map_err(Error::io("truncate", dest))?;
            return Ok(Attempt::Retry(
                Error::HttpStatus {
                    url: shown,
                    status: 416,
                },
                None,
            ));
        }
        if !status.is_success() {
            return status_failed(shown, &resp);
        }
        let resumed = status == StatusCode::PARTIAL_CONTENT
            && resp
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with(&format!("bytes {have}-")));
        if resumed {
            tracing::debug!(file = %shown_name, offset = have, "resuming download");
        } else {
            // A full body (the server ignored Range, or this is the first attempt): start over.
            file.set_len(0).map_err(Error::io("truncate", dest))?;
            have = 0;
            hasher = Hashes::new(sha512);
        }
        progress.start(shown_name, length, have);
        let mut got = have;
        // The network's small chunks are gathered into 1 MiB writes (a 32 MiB target: 32 write calls, not
        // thousands); what is buffered is always written out before returning, so a retry resumes from
        // exactly the bytes received.
        let mut pending: Vec<u8> = Vec::with_capacity(WRITE_CHUNK);
        let write_out = |file: &mut std::fs::File, pending: &mut Vec<u8>| {
            let r = file.write_all(pending).map_err(Error::io("write", dest));
            pending.clear();
            r
        };
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    got += chunk.len() as u64;
                    if got > length {
                        return Err(Error::LengthMismatch {
                            target: shown_name.to_owned(),
                            expected: length,
                            actual: got,
                        });
                    }
                    hasher.update(&chunk);
                    pending.extend_from_slice(&chunk);
                    if pending.len() >= WRITE_CHUNK {
                        write_out(&mut file, &mut pending)?;
                    }
                    progress.advance(chunk.len() as u64);
                }
                Ok(None) => break,
                Err(e) => {
                    write_out(&mut file, &mut pending)?;
                    return Ok(Attempt::Retry(
                        Error::Network {
                            url: shown,
                            source: e,
                        },
                        None,
                    ));
                }
            }
        }
        write_out(&mut file, &mut pending)?;
        if got < length {
            // The server closed a "complete" response early: resume from what we have.
            return Ok(Attempt::Retry(
                Error::LengthMismatch {
                    target: shown_name.to_owned(),
                    expected: length,
                    actual: got,
                },
                None,
            ));
        }
        Ok(Attempt::Done(hasher.finish()))
    }
}

/// Size of the writes a download gathers the network's chunks into.
const WRITE_CHUNK: usize = 1 << 20;
