/**
 * The DARE parameter block the staged loops read (staged-merges.wat.ts DARE_PARAM): a view of
 * DARE_PARAM_BYTES at one address of a kernel memory, the hash's constants written once, one
 * model's values written into all four lanes before each of its passes.
 */
import { DARE_MIX, DARE_PARAM, DARE_PARAM_BYTES } from './staged-merges.wat';

export class DareParamBlock {
  private readonly f32: Float32Array;
  private readonly i32: Int32Array;

  constructor(buffer: ArrayBufferLike, readonly address: number) {
    this.f32 = new Float32Array(buffer, address, DARE_PARAM_BYTES / 4);
    this.i32 = new Int32Array(buffer, address, DARE_PARAM_BYTES / 4);
    const lanes = (at: number, values: readonly number[]) => this.i32.set(values, at / 4);
    lanes(DARE_PARAM.m1, [DARE_MIX.m1, DARE_MIX.m1, DARE_MIX.m1, DARE_MIX.m1]);
    lanes(DARE_PARAM.m2, [DARE_MIX.m2, DARE_MIX.m2, DARE_MIX.m2, DARE_MIX.m2]);
    lanes(DARE_PARAM.step, [4, 4, 4, 4]);
    lanes(DARE_PARAM.lanes, [0, 1, 2, 3]);
  }

  /** One model's values into every lane (f32 weight and scale, u32 keys, the integer keep threshold). */
  set(weight: number, scale: number, key0: number, key1: number, threshold: number): void {
    this.f32.fill(weight, DARE_PARAM.weight / 4, DARE_PARAM.weight / 4 + 4);
    this.f32.fill(scale, DARE_PARAM.scale / 4, DARE_PARAM.scale / 4 + 4);
    this.i32.fill(key0 | 0, DARE_PARAM.key0 / 4, DARE_PARAM.key0 / 4 + 4);
    this.i32.fill(key1 | 0, DARE_PARAM.key1 / 4, DARE_PARAM.key1 / 4 + 4);
    this.i32.fill(threshold | 0, DARE_PARAM.threshold / 4, DARE_PARAM.threshold / 4 + 4);
  }
}
