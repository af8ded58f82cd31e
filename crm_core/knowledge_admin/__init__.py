"""What admins do to the knowledge base from a chat, as pure pieces: which table is a FAQ, how questions that
went unanswered group together, and the FAQ table gap answers are written to. The flow is `flows.knowledge`."""
