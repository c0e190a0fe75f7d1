//! The x0x-dist artifact server and the offline repository operations behind the `x0x-dist` CLI.
