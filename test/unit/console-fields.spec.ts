import {
  bodyOf,
  changes,
  FIELDS,
  OVERRIDE_FIELDS,
  problemsByField,
  valuesOf,
} from '../../console/src/fields';

describe('console field table', () => {
  it('holds every plan field once, the override ones marked', () => {
    expect(FIELDS.map((f) => f.name)).toEqual([
      'maxStreams',
      'countBy',
      'onLimit',
      'renewalIntervalSeconds',
      'graceSeconds',
      'enforcement',
      'evictionGraceSeconds',
      'handoff',
      'maxStreamsPerContent',
      'maxDevices',
      'deviceWindowHours',
      'maxDownloads',
      'downloadDays',
      'downloadPlaybackHours',
    ]);
    expect(OVERRIDE_FIELDS.map((f) => f.name)).toEqual([
      'maxStreams',
      'countBy',
      'onLimit',
      'enforcement',
      'evictionGraceSeconds',
      'maxStreamsPerContent',
      'maxDevices',
      'maxDownloads',
    ]);
  });

  it('sends only the fields that are set, typed; a malformed number goes as typed', () => {
    const values = valuesOf({ maxStreams: 3, countBy: 'device', handoff: false }, FIELDS);
    expect(values.maxStreams).toBe('3');
    expect(values.maxDevices).toBe('');
    expect(bodyOf({ ...values, graceSeconds: ' 10 ', maxDevices: 'ten' }, FIELDS)).toEqual({
      maxStreams: 3,
      countBy: 'device',
      handoff: false,
      graceSeconds: 10,
      maxDevices: 'ten',
    });
  });

  it("puts each of the API's problems with the field it names", () => {
    const split = problemsByField(
      [
        'maxStreams: must be an integer from 0 to 100',
        'maxDevices: unknown field',
        'body: must be a JSON object',
      ],
      FIELDS.map((f) => f.name),
    );
    expect(split.byField).toEqual({
      maxStreams: ['maxStreams: must be an integer from 0 to 100'],
      maxDevices: ['maxDevices: unknown field'],
    });
    expect(split.other).toEqual(['body: must be a JSON object']);
  });

  it('states each change for the confirmation', () => {
    expect(
      changes({ maxStreams: 3, countBy: 'session' }, { maxStreams: 1 }, [
        'maxStreams',
        'countBy',
        'onLimit',
      ]),
    ).toEqual(['maxStreams: 3 → 1', 'countBy: session → not set']);
  });
});
