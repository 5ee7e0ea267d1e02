"""Program: what admins run for a workspace (rounds, numbers, export); to come."""
