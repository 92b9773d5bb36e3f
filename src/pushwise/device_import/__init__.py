"""`pushwise import devices`: an existing token base moves in through the API's registration path."""
