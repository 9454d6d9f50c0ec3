"""Payment gateways behind one Protocol (issue 3 onwards). No ORM, no GraphQL imports."""
