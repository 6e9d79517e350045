// online_lse.wgsl (include): the running logsumexp of a stream of values, kept as flash attention
// keeps it: the largest value so far mx and se = sum of exp(v - mx), rescaled when mx grows. One exp
// per value: e = exp(-|v - mx|) is the new term when v <= mx and the rescale factor of the old sum
// when v > mx. Start with mx = first value and se = 1, or mx = -3e38 and se = 0 for an empty
// stream; call lse_take(v) per value; the logsumexp is mx + log(se). Provides the private mx and
// se and fn lse_take(v).
var<private> mx: f32;
var<private> se: f32;

fn lse_take(v: f32) {
  let e = exp(-abs(v - mx));
  let up = v > mx;
  se = select(se + e, se * e + 1.0, up);
  mx = select(mx, v, up);
}
