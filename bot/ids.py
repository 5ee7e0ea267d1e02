"""Block Kit identifiers shared by the builders in bot/ and the listeners in handlers/."""

COMMAND = "/mentor"

# Profile modal
PROFILE_CALLBACK = "profile"
PROFILE_ROLES_BLOCK = "profile_roles"
PROFILE_ROLES_ACTION = "roles"
PROFILE_OFFERED_BLOCK = "profile_offered"
PROFILE_OFFERED_ACTION = "topics_offered"
PROFILE_SOUGHT_BLOCK = "profile_sought"
PROFILE_SOUGHT_ACTION = "topics_sought"
PROFILE_GOALS_BLOCK = "profile_goals"
PROFILE_GOALS_ACTION = "goals"
PROFILE_BACKGROUND_BLOCK = "profile_background"
PROFILE_BACKGROUND_ACTION = "background"
PROFILE_EXPERIENCE_BLOCK = "profile_experience"
PROFILE_EXPERIENCE_ACTION = "experience"
PROFILE_CAPACITY_BLOCK = "profile_capacity"
PROFILE_CAPACITY_ACTION = "capacity"

ROLE_MENTEE = "mentee"
ROLE_MENTOR = "mentor"

# Buttons
OPEN_PROFILE_ACTION = "open_profile"

# Find
GOALS_CALLBACK = "goals"
GOALS_BLOCK = "goals_goals"
GOALS_ACTION = "goals"
GOALS_TOPICS_BLOCK = "goals_topics"
GOALS_TOPICS_ACTION = "topics"
FIND_MORE_ACTION = "find_more"
FIND_AGAIN_ACTION = "find_again"
ASK_INTRO_ACTION = "ask_intro"
WISH_ACTION = "wish"

# Mentor requests
INTRO_CALLBACK = "intro"
INTRO_NOTE_BLOCK = "intro_note"
INTRO_NOTE_ACTION = "note"
ACCEPT_REQUEST_ACTION = "accept_request"
DECLINE_REQUEST_ACTION = "decline_request"
WITHDRAW_REQUEST_ACTION = "withdraw_request"
DECLINE_CALLBACK = "decline"
DECLINE_REASON_BLOCK = "decline_reason"
DECLINE_REASON_ACTION = "reason"
SCHEDULE_SESSION_ACTION = "schedule_session"
