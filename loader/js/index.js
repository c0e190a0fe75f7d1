'use strict';
// require('x0x'): resolve, verify, cache and load the x0x core for this host (see lib/loader.js).
module.exports = require('./lib/loader').load({ pkgDir: __dirname }).exports;
