/** Maps with at most `limit` calls in flight (at least one); results keep the input order. */
export async function mapWithConcurrency<Input, Output>(
  inputs: readonly Input[],
  limit: number,
  run: (input: Input) => Promise<Output>,
): Promise<Output[]> {
  const results: Output[] = new Array<Output>(inputs.length);
  let next = 0;
  async function lane(): Promise<void> {
    while (next < inputs.length) {
      const index = next;
      next += 1;
      results[index] = await run(inputs[index] as Input);
    }
  }
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), inputs.length) }, lane));
  return results;
}
