//! A bounded in-process memo of immutable objects (versioned metadata `N.role.json`, npm release records) for
//! stores where a read is a network round trip (S3). Versioned names are written once (the coordinator reserves
//! each number before it is written: docs/coordinator.md), so a copy read or written by this process stays
//! valid; the publish path re-reads the state a commit builds on (snapshot, targets, the package's role) from
//! here instead of the engine. Bounded by total bytes: when full it is emptied (a cold read is only slower).
use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

use super::{ETag, Object, ObjectKey};

/// Default bound of the memo (bytes of object bodies).
pub const DEFAULT_MAX_BYTES: usize = 64 << 20;

/// Immutable objects by key (see the module docs).
#[derive(Debug)]
pub struct Memo {
    max_bytes: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    bytes: usize,
    objects: HashMap<String, (Bytes, ETag)>,
}

impl Memo {
    /// An empty memo holding at most `max_bytes` of object bodies.
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The object `key` if remembered (only immutable keys ever are).
    pub fn get(&self, key: &ObjectKey) -> Option<Object> {
        if !key.is_immutable() {
            return None;
        }
        let g = self.inner.lock().ok()?;
        g.objects.get(&key.as_key()).map(|(bytes, etag)| Object {
            bytes: bytes.clone(),
            etag: etag.clone(),
        })
    }

    /// Forgets the object whose key (relative to the store's root, [`ObjectKey::as_key`]) is `rel` (removed).
    pub fn forget(&self, rel: &str) {
        if let Ok(mut g) = self.inner.lock() {
            if let Some((old, _)) = g.objects.remove(rel) {
                g.bytes -= old.len();
            }
        }
    }

    /// Remembers `key` (read from or written to the store) if it is immutable and fits.
    pub fn put(&self, key: &ObjectKey, bytes: &Bytes, etag: &ETag) {
        if !key.is_immutable() || bytes.len() > self.max_bytes / 4 {
            return;
        }
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        if g.bytes + bytes.len() > self.max_bytes {
            g.objects.clear();
            g.bytes = 0;
        }
        if let Some((old, _)) = g
            .objects
            .insert(key.as_key(), (bytes.clone(), etag.clone()))
        {
            g.bytes -= old.len();
        }
        g.bytes += bytes.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_only_immutable_keys_and_stays_bounded() {
        let m = Memo::new(400);
        let tag = ETag("t".into());
        let ts = ObjectKey::timestamp();
        m.put(&ts, &Bytes::from_static(b"ts"), &tag);
        assert!(
            m.get(&ts).is_none(),
            "timestamp.json changes: never remembered"
        );
        let s1 = ObjectKey::metadata("1.snapshot.json").unwrap();
        m.put(&s1, &Bytes::from(vec![1u8; 90]), &tag);
        assert_eq!(m.get(&s1).unwrap().bytes.len(), 90);
        // Rewriting the same key (an orphan the single writer reuses) replaces it.
        m.put(&s1, &Bytes::from(vec![2u8; 80]), &tag);
        assert_eq!(m.get(&s1).unwrap().bytes[0], 2);
        assert_eq!(m.inner.lock().unwrap().bytes, 80);
        // Too big for a quarter of the bound: not remembered.
        let big = ObjectKey::metadata("2.x0x.json").unwrap();
        m.put(&big, &Bytes::from(vec![0u8; 101]), &tag);
        assert!(m.get(&big).is_none());
        // Full: emptied, then the new one kept.
        for i in 3..10 {
            let k = ObjectKey::metadata(&format!("{i}.x0x.json")).unwrap();
            m.put(&k, &Bytes::from(vec![0u8; 100]), &tag);
            assert!(m.get(&k).is_some());
        }
        assert!(m.inner.lock().unwrap().bytes <= 400);
        // Removed from the store (gc): forgotten.
        let k = ObjectKey::metadata("9.x0x.json").unwrap();
        m.forget(&k.as_key());
        assert!(m.get(&k).is_none());
    }
}
