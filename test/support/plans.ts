import { Plan, PlanCatalog } from '../../src/config/plan';

/** A plan for tests: limit 2 by session, reject-new, 60 s + 30 s, and whatever the test sets. */
export function plan(name: string, fields: Partial<Omit<Plan, 'name'>> = {}): Plan {
  return {
    name,
    maxStreams: 2,
    countBy: 'session',
    onLimit: 'reject-new',
    renewalIntervalSeconds: 60,
    graceSeconds: 30,
    ...fields,
  };
}

/** A catalogue for tests: `basic` (default) plus whatever the test adds. */
export function catalog(...plans: Plan[]): PlanCatalog {
  const all = plans.some((p) => p.name === 'basic') ? plans : [plan('basic'), ...plans];
  return { defaultPlan: 'basic', plans: all };
}
