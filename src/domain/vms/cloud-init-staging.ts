import { arcMachineName } from '../identity/arc-machine.js';
import type { ArcTarget, ArcUserDataRenderer, OnboardingCredentials } from '../identity/onboarding.js';
import { buildUserData, type UserDataInput } from './cloud-init.js';
import type { VmRepository } from './vm-repository.js';

/** What onboarding a VM to Azure Arc needs: a token minter, the user-data renderer and where machines go. */
export interface VmOnboarding {
  readonly credentials: OnboardingCredentials;
  readonly renderer: ArcUserDataRenderer;
  readonly target: ArcTarget;
}

/**
 * Stages a VM's cloud-init (`putCloudInit`): the platform part, the caller's extra user-data and,
 * with Arc on, the onboarding of its Arc machine (`arcMachineName(vm)`: the same name, so the same
 * ARM resource, every time it is rendered for this VM) with a freshly minted token, plus its
 * scrubbed copy. The token goes into the Secret only: never into an operation's input, a log line or an answer.
 */
export async function stageCloudInit(
  repo: Pick<VmRepository, 'putCloudInit'>,
  onboarding: VmOnboarding | undefined,
  vm: { readonly tenant: string; readonly name: string; readonly id: string; readonly arc: boolean },
  base: Omit<UserDataInput, 'arc'>,
): Promise<void> {
  if (!vm.arc || onboarding === undefined) {
    await repo.putCloudInit(vm.tenant, vm.name, buildUserData(base));
    return;
  }
  const { credentials, renderer, target } = onboarding;
  const token = await credentials.mintAccessToken();
  const rendered = await renderer.render({
    machineName: arcMachineName(vm.name),
    tenant: vm.tenant,
    vmId: vm.id,
    target,
    secret: { kind: 'access-token', token: token.token },
  });
  await repo.putCloudInit(
    vm.tenant,
    vm.name,
    buildUserData({ ...base, arc: rendered.userData }),
    buildUserData({ ...base, arc: rendered.scrubbedUserData }),
  );
}
