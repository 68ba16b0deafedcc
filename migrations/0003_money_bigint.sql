ALTER TABLE "cart_items" ALTER COLUMN "unit_price" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "order_items" ALTER COLUMN "unit_price" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "order_items" ALTER COLUMN "line_total" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "orders" ALTER COLUMN "total" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "payments" ALTER COLUMN "amount" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "skus" ALTER COLUMN "price" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "skus" ALTER COLUMN "on_hand" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "skus" ALTER COLUMN "reserved" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "skus" ALTER COLUMN "sold" SET DATA TYPE bigint;