// Near misses for the obfuscation rules: nothing here may be flagged.
const surrogate = String.fromCharCode(0xD800, 0xDC00);   // two code units
const chars = codes.map((c) => String.fromCharCode(c)).join('');
const nul = "\x00\x00\x00\x00";
const bom = '\uFEFF';
const hash = 'sha512-3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==';
