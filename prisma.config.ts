// Prisma 7 reads its settings from here. The URL is only used by the Prisma CLI on machines that can
// run it (migrate status/deploy with internet access); the application reads DATABASE_URL itself.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: {
    path: "prisma/migrations",
  },
  datasource: {
    url: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/plugchat_sync",
  },
});
