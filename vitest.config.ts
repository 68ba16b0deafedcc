import { defineConfig } from "vitest/config";

// Three projects:
//  - node:    pure domain rules and the local-stack tools (dev/), in Node.
//  - workers: actors, HTTP routes and the queue consumer inside workerd (Miniflare)
//             against the real Postgres and Redis of this machine.
//  - e2e:     the whole local stack (`npm run dev` pieces) driven over real HTTP.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/domain/**/*.test.ts", "test/dev/**/*.test.ts"],
        },
      },
    ],
  },
});
