// Near misses for the native rules: nothing here may be flagged.
const binding = require('./build/Release/addon.node');  // ordinary addon
const processBinding = null;
const bind = fn.bind(process);
const dl = { dlopen: false };
const ffiLike = require('ffi-utils-local');
