// A stream defined in TypeScript with a zod schema. Anyone may watch a group
// but `secret`, which needs the admin token (authContext from stream_auth.js).
import { z } from 'zod'

export const todoSchema = z.object({
  id: z.string(),
  title: z.string(),
  done: z.boolean().optional(),
  by: z.string().optional(),
})

export const config = {
  name: 'todo',
  schema: todoSchema,
  baseConfig: { storageType: 'default' as const },
  canAccess: async (subscription: { groupId: string; id?: string }, authContext: { role?: string } | null) =>
    subscription.groupId !== 'secret' || authContext?.role === 'admin',
}
