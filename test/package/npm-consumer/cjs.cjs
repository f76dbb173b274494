// CommonJS: require() of the ESM package (Node >= 20.19).
const { MinHashLSHIndex, signatureFromText, version } = require('knowhere-rs');

const index = new MinHashLSHIndex();
const a = signatureFromText('one two three four five six seven eight nine ten');
const b = signatureFromText('completely unrelated words in another order here');
const both = new Uint32Array(256);
both.set(a, 0);
both.set(b, 128);
index.buildAsync(both, 128, 4, 16, true)
  .then(() => index.searchAsync(b, 1))
  .then(({ ids }) => {
    console.log(JSON.stringify({ version: version(), ids: [...ids].map(Number) }));
    index.close();
  });
