import { describe, expect, it } from 'vitest';
import { StatusTransitions } from '../../src/monitoring/status-transitions.js';

describe('StatusTransitions: which statuses are news', () => {
  it('a first quiet status is not news; a first other status is, from nothing', () => {
    const statuses = new StatusTransitions<'ok' | 'alerting'>('ok');
    expect(statuses.record('range', 'ok')).toBeUndefined();
    expect(statuses.record('total', 'alerting')).toEqual({ from: null });
  });

  it('the same status again is not news; a change is, from the status before', () => {
    const statuses = new StatusTransitions<'ok' | 'alerting'>('ok');
    statuses.record('range', 'ok');
    expect(statuses.record('range', 'ok')).toBeUndefined();
    expect(statuses.record('range', 'alerting')).toEqual({ from: 'ok' });
    expect(statuses.record('range', 'alerting')).toBeUndefined();
    expect(statuses.record('range', 'ok')).toEqual({ from: 'alerting' });
  });

  it('each name keeps its own status', () => {
    const statuses = new StatusTransitions<'stable' | 'moderate' | 'significant'>('stable');
    statuses.record('tenure_months', 'moderate');
    expect(statuses.record('monthly_charges', 'moderate')).toEqual({ from: null });
    expect(statuses.record('tenure_months', 'significant')).toEqual({ from: 'moderate' });
  });

  it('after clear, statuses are judged as first ones again', () => {
    const statuses = new StatusTransitions<'stable' | 'moderate'>('stable');
    statuses.record('tenure_months', 'moderate');
    statuses.clear();
    expect(statuses.record('tenure_months', 'moderate')).toEqual({ from: null });
    statuses.clear();
    expect(statuses.record('tenure_months', 'stable')).toBeUndefined();
  });
});
