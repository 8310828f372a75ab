// The packed @hubgen-tests/echo-client package in a browser project whose lib
// is ES2022 and DOM only: no esnext.disposable and no @types/node, so no
// Symbol.dispose is declared. The package must compile there all the same
// (tests/e2e/test_typescript_package.py compiles this file with
// skipLibCheck off), and must not declare Symbol.dispose for it.
import { type Disposable, type HubSubscription, createEchoHub } from "@hubgen-tests/echo-client";

export async function page(url: string): Promise<number[]> {
  const hub = createEchoHub(url);
  const registration: Disposable = hub.register({ message: (text) => void text });
  const items: number[] = [];
  const subscription: HubSubscription<number> = hub.counter(3).subscribe({
    next: (value: number | null) => void (value !== null && items.push(value)),
    error: () => {},
    complete: () => {},
  });
  const controller = new AbortController();
  for await (const value of hub.counter(3, { signal: controller.signal })) {
    items.push(value);
  }
  subscription.dispose();
  registration.dispose();
  // @ts-expect-error this lib has no Symbol.dispose, and the package declares none
  void Symbol.dispose;
  return items;
}
