// Escapes in strings and character classes are not names.
const name = "caf\u00e9 \u{1F600}";
const ID = /[\u0041-\u005A\u0061-\u007A_$][\w$]*/;
const s = "\u0041BC";
console.log(name, ID.test(s));
