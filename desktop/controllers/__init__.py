"""Controllers: the main window's long-running concerns, each a QObject that talks to
the window through signals (sync, live marks, the journal, scenario files, the theme).

The window keeps layout, actions and routing; a controller owns its state (services,
dialogs, timers) and its background tasks, so each can be read and tested on its own.
"""
