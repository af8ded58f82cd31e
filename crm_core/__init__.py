"""chatcrm domain core: CRM store, understanding and retrieval; knows no chat."""
