'use strict';
// require('x0x'): load the verified x0x core for this host (lib/entry.js: the warm path in lib/warm.js, the
// rest in lib/loader.js).
module.exports = require('./lib/entry').load(__dirname);
