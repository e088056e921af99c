"""The processes that consume jobs: the threaded RQ worker, the maintenance loop and the job functions.

They import imagecache (its composition root builds what they run); imagecache never imports them:
`imagecache worker` and `imagecache maintenance` start them as programs.
"""
