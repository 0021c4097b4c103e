"""The ``runbot`` worker process: owns sessions, starts and watches bot children, runs the scheduler.

Nothing in this package imports neonize: a process that loaded it must never fork (the django-q2
cluster forks), and neonize's ``connect()`` can hang where only SIGKILL helps, so all of it runs
in the child (``bot.child``).
"""
