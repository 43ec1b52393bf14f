"""Access control: bucket policies, ACLs, ownership controls, public access blocks."""
