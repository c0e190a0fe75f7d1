'use strict';
// require('x0x'): load the verified x0x core for this host (warm path in lib/warm.js, the rest in lib/loader.js).
module.exports = require('./lib/warm').load(__dirname);
