'use strict';
// Not an install script: the package declares no lifecycle script (docs/loader.md, "Installing"). Kept for
// projects whose own scripts run it by path; same as `npx x0x prefetch --if-possible`: prefetch and verify the
// binary for this host into the cache, and never fail (on any error a warning, exit 0; resolution then happens
// at the first require('x0x')). Nothing runs it unless a project does, so it has no opt-out variable: to skip
// it, don't run it (X0X_SKIP_POSTINSTALL, from when it was the install script, is gone).
process.exitCode = require('./bin/x0x').main(['prefetch', '--if-possible']);
