import {
  bucketSeconds,
  sightingBucket,
  slotHash,
  windowBuckets,
} from '../../src/active-slots/active-slots-layout';

describe('active-slots layout', () => {
  describe('slotHash', () => {
    it('is a fixed function: every instance (and every version in a rollout) counts alike', () => {
      expect(slotHash('u', 'session', 's1')).toBe(996098807);
      expect(slotHash('u', 'device', 's1', 'd')).toBe(358901240);
    });

    it('counts by session: one value per session of a user', () => {
      expect(slotHash('u', 'session', 's1', 'd')).not.toBe(slotHash('u', 'session', 's2', 'd'));
      expect(slotHash('u', 'session', 's1')).not.toBe(slotHash('v', 'session', 's1'));
    });

    it('counts by device: every session on one device is one slot; no device → by session', () => {
      expect(slotHash('u', 'device', 's1', 'd')).toBe(slotHash('u', 'device', 's2', 'd'));
      expect(slotHash('u', 'device', 's1', 'd')).not.toBe(slotHash('u', 'device', 's1', 'e'));
      expect(slotHash('u', 'device', 's1')).toBe(slotHash('u', 'session', 's1'));
      // a device id that equals a session id is still another slot
      expect(slotHash('u', 'device', 'x', 'x')).not.toBe(slotHash('u', 'session', 'x'));
    });

    it('stays a 32-bit integer (kept unboxed) and rarely collides', () => {
      const seen = new Set<number>();
      for (let i = 0; i < 100_000; i++) {
        const hash = slotHash(`user-${i}`, 'session', '0123456789abcdef0123456789abcdef');
        expect(hash | 0).toBe(hash);
        seen.add(hash);
      }
      // ~1 expected collision among 100,000 random 32-bit values
      expect(seen.size).toBeGreaterThan(99_990);
    });
  });

  describe('buckets', () => {
    it('buckets are at least 10 s and at most ~30 per window', () => {
      expect(bucketSeconds(90)).toBe(10);
      expect(bucketSeconds(3600)).toBe(120);
    });

    it('a sighting bucket lives past the window; the window covers every such bucket', () => {
      const { width, bucket, ttlSeconds } = sightingBucket(90, 1000);
      expect({ width, bucket, ttlSeconds }).toEqual({ width: 10, bucket: 100, ttlSeconds: 110 });
      expect(windowBuckets(90, 1000)).toEqual({
        width: 10,
        buckets: [91, 92, 93, 94, 95, 96, 97, 98, 99, 100],
      });
    });
  });
});
