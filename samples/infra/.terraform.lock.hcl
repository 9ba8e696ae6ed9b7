# This file is maintained automatically by "tofu init".
# Manual edits may be lost in future updates.

provider "registry.opentofu.org/example/demo" {
  version = "1.2.3"
  hashes = [
    "h1:bCNGGAYtf1IJepQpuuVZfj4imMgSGesgBvM9wuJlfV0=",
    "h1:bR+REmf0KQalFx7qsYnPbozvOO0rE+3DhOo3DdhF4Mo=",
    "h1:n6NdWgT1FLrYPzjjSOHsPI7ELXpddkHMraU5VN68Efg=",
    "zh:495c1843aef0f3c4680f85b020570de45c710a6119a0826677e1684266719319",
    "zh:5f33498647ec77cfeecf219e7aed67df0ce87aad3eec50880d658bf71ec2c485",
    "zh:fdff85bbfbd4d3b351ebad509f80f72423f497fd69fc22d50cfd33eb66e75290",
  ]
}
