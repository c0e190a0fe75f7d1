//! The x0x core: ML-DSA-65 agent keys and the TaskList CRDT, exposed to Node through napi-rs.
