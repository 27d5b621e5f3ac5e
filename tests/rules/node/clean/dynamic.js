// Near misses for the dynamic-code rules: nothing here may be flagged.
function evaluate(expr) { return parser.parse(expr); }   // evaluate( is not eval(
const result = evaluate(atob(input));
const decoded = Buffer.from(token, 'base64').toString('utf8');   // decode, no eval
const FunctionName = 'run';
const x = new FunctionalComponent();
const text = decodeURIComponent(q);
const sandbox = vmContext.runInThisContextLike;
const { body } = req; const parsed = JSON.parse(body);
