// Preloaded (node --require) into the measured process: prints its peak RSS when it exits,
// so the measurement needs no external tool. Written to stderr as one parseable line.
process.on('exit', () => {
  process.stderr.write(`\nmeasure-config maxrss-kib ${process.resourceUsage().maxRSS}\n`);
});
