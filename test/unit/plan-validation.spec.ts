import { parsePlan, parsePlanCatalog, Plan, PLAN_DEFAULTS } from '../../src/config/plan';
import { encodePlanTable } from '../../src/sessions/plan-table';

/** A plan body (plans file or admin API) and the table the scripts read (README, "Plans"). */

describe('parsePlan', () => {
  it('gives omitted fields the defaults, and leaves the optional ones out', () => {
    expect(parsePlan('p', {})).toEqual({ plan: { name: 'p', ...PLAN_DEFAULTS }, problems: [] });
    expect(PLAN_DEFAULTS).toEqual({
      maxStreams: 1,
      countBy: 'session',
      onLimit: 'reject-new',
      renewalIntervalSeconds: 60,
      graceSeconds: 30,
    });
  });

  it('takes the download fields within their ranges', () => {
    expect(
      parsePlan('d', { maxDownloads: 0, downloadDays: 3650, downloadPlaybackHours: 1 }).plan,
    ).toEqual({
      name: 'd',
      ...PLAN_DEFAULTS,
      maxDownloads: 0,
      downloadDays: 3650,
      downloadPlaybackHours: 1,
    });
    expect(
      parsePlan('d', { maxDownloads: 1001, downloadDays: 0, downloadPlaybackHours: 8761 }).problems,
    ).toEqual([
      'maxDownloads: must be an integer from 0 to 1000',
      'downloadDays: must be an integer from 1 to 3650',
      'downloadPlaybackHours: must be an integer from 1 to 8760',
    ]);
  });

  it('names a plan of 1-64 characters of A-Z a-z 0-9 _ -', () => {
    expect(parsePlan('A-z_9'.padEnd(64, 'x'), {}).problems).toEqual([]);
    for (const name of ['', 'x'.repeat(65), 'gold plan', 'a.b', 'line\nbreak']) {
      expect(parsePlan(name, {}).problems).toEqual([
        'name: plan name must be 1-64 characters of A-Z a-z 0-9 _ -',
      ]);
    }
  });

  it('needs an object, and prefixes every problem with where the plan is', () => {
    expect(parsePlan('p', [1], 'plans.p')).toEqual({ problems: ['plans.p: must be an object'] });
    expect(parsePlan('p', null)).toEqual({ problems: ['plan: must be an object'] });
    expect(parsePlan('p', { handoff: 'yes', countBy: 2 }, 'plans.p').problems).toEqual([
      'plans.p.countBy: must be one of session, device',
      'plans.p.handoff: must be true or false',
    ]);
  });
});

describe('parsePlanCatalog', () => {
  it('reads the default plan and every plan; an empty plan body takes the defaults', () => {
    expect(
      parsePlanCatalog(
        { defaultPlan: 'basic', plans: { basic: null, family: { maxStreams: 4 } } },
        'plans.yaml',
      ),
    ).toEqual({
      catalog: {
        defaultPlan: 'basic',
        plans: [
          { name: 'basic', ...PLAN_DEFAULTS },
          { name: 'family', ...PLAN_DEFAULTS, maxStreams: 4 },
        ],
      },
      problems: [],
    });
  });

  it('names every problem of the document, each with its source', () => {
    expect(
      parsePlanCatalog(
        { defaultPlan: 'gold', plans: { basic: { maxStreams: -1 } }, owner: 'me' },
        'plans.yaml',
      ).problems,
    ).toEqual([
      'plans.yaml: owner: unknown field',
      'plans.yaml: plans.basic.maxStreams: must be an integer from 0 to 100',
      'plans.yaml: defaultPlan: "gold" is not one of the plans',
    ]);
    expect(parsePlanCatalog({ plans: { basic: {} } }, 'f').problems).toEqual([
      'f: defaultPlan: must name one of the plans',
    ]);
    expect(parsePlanCatalog(['basic'], 'f').problems).toEqual(['f: must be a YAML mapping']);
  });
});

describe('encodePlanTable', () => {
  const basic: Plan = { name: 'basic', ...PLAN_DEFAULTS };

  it('one line per plan: the policy, maxDownloads -1 when not counted, downloadDays 30 by default', () => {
    expect(
      encodePlanTable([
        basic,
        {
          name: 'family',
          maxStreams: 4,
          countBy: 'device',
          onLimit: 'evict-oldest',
          renewalIntervalSeconds: 20,
          graceSeconds: 0,
          maxDownloads: 3,
          downloadDays: 7,
        },
      ]),
    ).toBe('\nbasic 1 session reject-new 60 30 -1 30\nfamily 4 device evict-oldest 20 0 3 7\n');
  });

  it('adds the controls, defaults filled in, only to a plan that sets one', () => {
    expect(encodePlanTable([{ ...basic, maxDevices: 2 }])).toBe(
      '\nbasic 1 session reject-new 60 30 -1 30 enforce 0 0 0 2 720\n',
    );
    expect(
      encodePlanTable([
        {
          ...basic,
          enforcement: 'shadow',
          evictionGraceSeconds: 90,
          handoff: true,
          maxStreamsPerContent: 1,
          deviceWindowHours: 24,
        },
      ]),
    ).toBe('\nbasic 1 session reject-new 60 30 -1 30 shadow 90 1 1 0 24\n');
  });

  it('an empty catalogue is one newline', () => {
    expect(encodePlanTable([])).toBe('\n');
  });
});
