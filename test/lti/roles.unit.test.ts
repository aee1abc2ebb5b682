import { describe, expect, it } from 'vitest';
import { ROLE } from '../../src/domain/lti/claims.js';
import { contextRole, labRoleOf, launchRole } from '../../src/domain/lti/roles.js';

describe('LTI context roles, read in one place for launches and roster syncs', () => {
  it('reads full URIs, sub-roles, the short forms and LIS v1 URNs; system roles and other URIs are not context roles', () => {
    expect(contextRole(ROLE.instructor)).toEqual({ principal: 'Instructor' });
    expect(contextRole(ROLE.teachingAssistant)).toEqual({ principal: 'Instructor', sub: 'TeachingAssistant' });
    expect(contextRole('Instructor#TeachingAssistant')).toEqual({ principal: 'Instructor', sub: 'TeachingAssistant' });
    expect(contextRole('urn:lti:role:ims/lis/Learner/NonCreditLearner')).toEqual({ principal: 'Learner', sub: 'NonCreditLearner' });
    expect(contextRole(' Learner ')).toEqual({ principal: 'Learner' });
    expect(contextRole('http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator')).toBeUndefined();
    expect(contextRole('http://purl.imsglobal.org/vocab/lis/v2/membership/')).toBeUndefined();
  });

  it('a launch is an instructor’s for instructors, their sub-roles, content developers and administrators, in any form', () => {
    for (const roles of [
      [ROLE.instructor],
      [ROLE.teachingAssistant],
      ['Instructor#TeachingAssistant'],
      ['TeachingAssistant'],
      ['urn:lti:role:ims/lis/Instructor'],
      [ROLE.contentDeveloper],
      ['Administrator'],
      [ROLE.learner, ROLE.instructor],
    ])
      expect(launchRole(roles), roles.join()).toBe('instructor');
    for (const roles of [[ROLE.learner], ['Mentor'], [], ['http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator']])
      expect(launchRole(roles), roles.join()).toBe('learner');
  });

  it('in a lab, content developers and administrators get no role (they are not taught, nor do they teach)', () => {
    expect(labRoleOf(ROLE.contentDeveloper)).toBeUndefined();
    expect(labRoleOf(ROLE.administrator)).toBeUndefined();
    expect(labRoleOf('Instructor#TeachingAssistant')).toBe('instructor');
    expect(labRoleOf('urn:lti:role:ims/lis/Learner')).toBe('student');
  });
});
