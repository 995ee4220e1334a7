// Reading Prometheus text exposition in tests.

/**
 * The sum of every sample whose series matches `selector`: a bare metric name matches all its
 * series; `name{label="v"` (a prefix of the label set, as the operator prints it) matches those.
 * Absent series count as 0.
 */
export function metricSum(text: string, selector: string): number {
  const matches = (line: string): boolean =>
    selector.includes('{')
      ? line.startsWith(selector)
      : line.startsWith(`${selector} `) || line.startsWith(`${selector}{`);
  return text
    .split('\n')
    .filter((line) => !line.startsWith('#') && matches(line))
    .reduce((total, line) => total + Number(line.split(' ').pop()), 0);
}
